"""Adapters: the only modules that import boto3. Each wraps one AWS service behind a domain port."""
