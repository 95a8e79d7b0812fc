"""Adapters: the only modules that call boto3, one per AWS service. Each translates AWS errors into
``pushpool.errors`` at the boundary; nothing outside this package sees botocore exceptions."""
