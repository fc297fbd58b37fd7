"""Structured JSON logs and CloudWatch EMF metrics, shared by every function.

Powertools' Logger and Metrics are cheap to create (no clients, no I/O), so they are module-level
singletons as Powertools intends; service name and namespace come from POWERTOOLS_* variables.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="pulse")
metrics = Metrics(namespace="Pulse", service="pulse")

# The S3 request that created the manifest: it ties the logs of a batch to the upload in CloudTrail.
S3_NOTIFICATION_CORRELATION = 'Records[0].responseElements."x-amz-request-id"'
