"""pushpool's Pulumi program: read config, wire the components of one stack, export outputs.

    pushpool:scope      shared | pool          (shared: the prefix's tables; pool: one work pool)
    pushpool:prefix     table/resource prefix  (default "pushpool")
    pushpool:pool       pool name              (scope=pool)
    pushpool:lambdaZip  built Lambda zip       (scope=pool; `python -m pushpool.provision.package`)
    pushpool:vpcMode    auto | default | create (default auto: the default VPC when it exists)
    pushpool:logRetentionDays   (default 30)
    aws:region          where everything goes

The `pushpool create --provision-infra` command sets these through the Automation API.
"""

import pulumi
import pulumi_aws as aws

from pushpool.contracts import CONFIG_NAMESPACE, DEFAULT_PREFIX, ConfigKey
from pushpool_infra.stacks import pool_stack, shared_stack

config = pulumi.Config(CONFIG_NAMESPACE)
scope = config.get(ConfigKey.SCOPE) or "pool"
prefix = config.get(ConfigKey.PREFIX) or DEFAULT_PREFIX
region = aws.config.region
if not region:
    raise pulumi.RunError("Set the region: `pulumi config set aws:region <region>`.")

if scope == "shared":
    outputs = shared_stack(
        prefix=prefix,
        region=region,
        deletion_protection=config.get_bool("deletionProtection") or False,
    )
elif scope == "pool":
    outputs = pool_stack(
        prefix=prefix,
        pool=config.require(ConfigKey.POOL),
        region=region,
        lambda_zip=config.require(ConfigKey.LAMBDA_ZIP),
        vpc_mode=config.get(ConfigKey.VPC_MODE) or "auto",
        log_retention_days=config.get_int("logRetentionDays") or 30,
        alarm_actions=config.get_object("alarmActions") or [],
    )
else:
    raise pulumi.RunError(f"pushpool:scope must be 'shared' or 'pool', not {scope!r}.")

for key, value in outputs.items():
    pulumi.export(key, value)
