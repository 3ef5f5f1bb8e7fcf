"""Moving a task's data between S3-compatible stores and into pods: ``computenet stage``.

The pure parts (:mod:`.plan`, :mod:`.progress`, :mod:`.location`) decide; :mod:`.s3` and
:mod:`.mover` carry the bytes with boto3; :mod:`.cli` is the command. docs/data.md explains it.
"""
