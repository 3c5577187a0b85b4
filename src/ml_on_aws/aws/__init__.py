"""Everything that talks to AWS: clients, the S3 locations of the `aws` environment, checks, upload."""
