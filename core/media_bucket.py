"""The media store on an S3-compatible bucket (AWS S3, Cloudflare R2, Backblaze B2, MinIO, Railway
Buckets), through django-storages' S3Storage (configuration, a boto3 session and client per
thread) and boto3's transfer manager (multipart uploads of large files).

An upload cut by a crash leaves no object that looks complete: S3 makes an object visible only
when its PUT has received every byte, or when CompleteMultipartUpload is called after every part;
until then readers see the previous object or none. So outputs are written to their own key
directly, no temporary key and copy (which would double the bytes moved and leave orphans).
"""

import os
import uuid
from pathlib import Path

import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from storages.backends.s3 import S3Storage

from core.media_keys import CHUNK_BYTES, MediaStat, MediaStoreBase, MediaStoreError, media_key

# Parts of 16 MB: a final of a few hundred MB goes in a few dozen requests, memory stays flat.
TRANSFER = TransferConfig(multipart_threshold=16 * 1024**2, multipart_chunksize=16 * 1024**2)
NOT_FOUND_CODES = {"404", "NoSuchKey", "NotFound"}


class BucketStore(MediaStoreBase):
    kind = "bucket"
    shares_disk = False  # units run in a scratch folder; inputs fetched, outputs stored

    def __init__(self, bucket_name, endpoint_url, region, access_key_id, secret_access_key):
        self.bucket_name = bucket_name
        self.endpoint_url = endpoint_url
        self.storage = S3Storage(
            bucket_name=bucket_name,
            endpoint_url=endpoint_url,
            region_name=region,
            access_key=access_key_id,
            secret_key=secret_access_key,
            file_overwrite=True,
            default_acl=None,  # private: the web streams or presigns
            querystring_auth=True,
            signature_version="s3v4",
            # Path-style requests work on every S3-compatible server (MinIO, moto, R2);
            # virtual-host style needs a DNS name per bucket.
            addressing_style="path" if endpoint_url else None,
        )

    def describe(self):
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"bucket {self.bucket_name}{where}"

    @property
    def client(self):
        # django-storages keeps one boto3 resource per thread; its client is thread-safe too.
        return self.storage.connection.meta.client

    def local_path(self, key):
        return None

    def stat(self, key):
        try:
            head = self.client.head_object(Bucket=self.bucket_name, Key=media_key(key))
        except botocore.exceptions.ClientError as error:
            if _code(error) in NOT_FOUND_CODES:
                return None
            raise self._error("stat", key, error) from error
        except botocore.exceptions.BotoCoreError as error:
            raise self._error("stat", key, error) from error
        return MediaStat(
            size=head["ContentLength"], etag=head["ETag"].strip('"'), modified=head["LastModified"]
        )

    def put_file(self, key, source):
        try:
            self.client.upload_file(str(source), self.bucket_name, media_key(key), Config=TRANSFER)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise self._error("put", key, error) from error
        return self.stat(key)

    def put_bytes(self, key, data):
        try:
            self.client.put_object(Bucket=self.bucket_name, Key=media_key(key), Body=data)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise self._error("put", key, error) from error
        return self.stat(key)

    def _get(self, key, **extra):
        try:
            return self.client.get_object(Bucket=self.bucket_name, Key=media_key(key), **extra)
        except botocore.exceptions.ClientError as error:
            if _code(error) in NOT_FOUND_CODES:
                raise FileNotFoundError(key) from error
            raise self._error("get", key, error) from error
        except botocore.exceptions.BotoCoreError as error:
            raise self._error("get", key, error) from error

    def get_to_file(self, key, destination):
        """Download to destination through a temporary file and a rename; returns the MediaStat
        of the very object read (its ETag comes with the body, so a cache never pairs one
        version's name with another's bytes)."""
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        response = self._get(key)
        temporary = destination.with_name(f".{destination.name}.get-{uuid.uuid4().hex[:12]}")
        try:
            with open(temporary, "wb") as handle:
                for chunk in response["Body"].iter_chunks(CHUNK_BYTES):
                    handle.write(chunk)
            os.replace(temporary, destination)
        finally:
            temporary.unlink(missing_ok=True)
        return MediaStat(
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            modified=response["LastModified"],
        )

    def read_bytes(self, key):
        return self._get(key)["Body"].read()

    def chunks(self, key, start=0, length=None, chunk_bytes=CHUNK_BYTES):
        if length == 0:
            return
        extra = {}
        if start or length is not None:
            end = "" if length is None else str(start + length - 1)
            extra["Range"] = f"bytes={start}-{end}"
        body = self._get(key, **extra)["Body"]
        try:
            yield from body.iter_chunks(chunk_bytes)
        finally:
            body.close()

    def copy(self, source_key, target_key):
        try:
            self.client.copy(
                {"Bucket": self.bucket_name, "Key": media_key(source_key)},
                self.bucket_name,
                media_key(target_key),
                Config=TRANSFER,
            )
        except botocore.exceptions.ClientError as error:
            if _code(error) in NOT_FOUND_CODES:
                raise FileNotFoundError(source_key) from error
            raise self._error("copy", source_key, error) from error

    def move(self, source_key, target_key):
        """Copy then delete (S3 has no rename); nothing when the source is gone."""
        try:
            self.copy(source_key, target_key)
        except FileNotFoundError:
            return
        self.delete(source_key)

    def delete(self, key):
        try:
            self.client.delete_object(Bucket=self.bucket_name, Key=media_key(key))
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise self._error("delete", key, error) from error
        return True

    def keys(self, prefix=""):
        prefix = media_key(prefix).rstrip("/") + "/" if prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket_name, Prefix=prefix):
                for entry in page.get("Contents", []):
                    yield entry["Key"], entry["Size"]
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
            raise self._error("list", prefix or "/", error) from error

    def url(self, key, *, seconds=300):
        """A short-lived presigned GET link (for a player that may fetch the bucket directly)."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket_name, "Key": media_key(key)},
            ExpiresIn=seconds,
        )

    def _error(self, what, key, error):
        return MediaStoreError(f"{self.describe()}: {what} {key}: {_describe(error)}")


def _code(error):
    return str(error.response.get("Error", {}).get("Code", ""))


def _describe(error):
    if isinstance(error, botocore.exceptions.ClientError):
        detail = error.response.get("Error", {})
        return f"{detail.get('Code', '?')} {detail.get('Message', '')}".strip()
    return str(error)


# What a refusal at start-up means, as the one variable to fix.
CAUSE_BY_CODE = {
    "InvalidAccessKeyId": "AWS_ACCESS_KEY_ID",
    "SignatureDoesNotMatch": "AWS_SECRET_ACCESS_KEY",
    "AccessDenied": "AWS_ACCESS_KEY_ID",
    "403": "AWS_ACCESS_KEY_ID",
    "NoSuchBucket": None,  # the bucket's own variable
    "404": None,
}


def bucket_problem(store, bucket_variable):
    """One line naming the variable to fix when the bucket cannot be used, else None."""
    try:
        try:
            store.client.head_bucket(Bucket=store.bucket_name)
        except botocore.exceptions.ClientError as error:
            if _code(error) not in ("403", "AccessDenied"):
                raise
            # A HEAD answer has no body to say which half of the key was refused; a listing's
            # does (InvalidAccessKeyId, SignatureDoesNotMatch, AccessDenied).
            store.client.list_objects_v2(Bucket=store.bucket_name, MaxKeys=1)
    except botocore.exceptions.ClientError as error:
        code = _code(error)
        variable = CAUSE_BY_CODE.get(code, bucket_variable)
        if variable is None:
            return f"{bucket_variable}: no bucket {store.bucket_name!r} at {_where(store)}"
        return (
            f"{variable}: the bucket {store.bucket_name!r} at {_where(store)} refused it "
            f"({_describe(error)})"
        )
    except botocore.exceptions.NoCredentialsError:
        return f"AWS_ACCESS_KEY_ID: not set; the bucket {store.bucket_name!r} needs credentials"
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError):
        return f"AWS_ENDPOINT_URL: nothing answers at {_where(store)}"
    except botocore.exceptions.BotoCoreError as error:
        return f"AWS_ENDPOINT_URL: {_where(store)}: {error}"
    return None


def _where(store):
    return store.endpoint_url or "AWS S3"
