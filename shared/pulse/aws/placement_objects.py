"""List versions as objects in ListsBucket (`placements/market=<m>/version=<v>.json.gz`, written
by publication, read by ApiFunction, handed to the ad server as presigned links).

The objects are stored as the gzip bytes they are, with no Content-Encoding: an HTTP client that
undid the compression on the way would no longer hold the bytes whose SHA-256 the API gives.
"""

from __future__ import annotations

from pulse.aws import clients


class S3PlacementObjects:
    def __init__(self, bucket: str) -> None:
        self._bucket = bucket

    def write(self, key: str, data: bytes) -> None:
        clients.s3().put_object(
            Bucket=self._bucket,
            Key=key,
            Body=data,
            ContentType="application/gzip",
            CacheControl="public, max-age=31536000, immutable",  # a key names one version, for good
        )

    def read(self, key: str) -> bytes:
        return clients.s3().get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def link(self, key: str, expires_in: int) -> str:
        """A GET link to the object, signed here with this function's credentials (no request)."""
        return clients.s3().generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
