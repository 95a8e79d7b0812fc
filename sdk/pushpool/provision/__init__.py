"""Provisioning a pool's AWS infrastructure: the Lambda zip build, the Pulumi Automation API
driver, and the stack outputs -> job template contract.

Importing this package is cheap: nothing here imports pulumi or boto3 at module level, so the CLI
pays for them only when it provisions. Never imported by the Lambda handlers or the runner (the zip
build leaves this package out).
"""

from pushpool.provision.outputs import job_variable_defaults

__all__ = ["job_variable_defaults"]
