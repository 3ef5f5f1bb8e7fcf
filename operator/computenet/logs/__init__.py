"""The operator's HTTPS endpoint for users who hold no member credentials.

``GET /logs/<namespace>/<task>`` streams the pod logs of a task's Job from its member through the
operator's own member connection; ``GET /snapshot`` returns the live placement snapshot that
``kubectl computenet simulate`` and ``top`` read. Every request carries the caller's hub token:
the hub authenticates it (TokenReview) and authorizes the request (SubjectAccessReview) before
anything is read, so the caller needs exactly the hub RBAC the operation names, and no member
credential ever leaves the operator.
"""
