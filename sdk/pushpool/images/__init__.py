"""Container images for flows: code baked into an image (``flow.deploy(image=...)``) and each
pool's runner image (``pushpool image build --pool``), built and pushed through the Docker SDK.

``spec`` (what the user asks for, pure), ``context`` (Dockerfiles and the build context with its
content hash), ``wheel`` (this pushpool as a wheel), ``engine`` (every Docker SDK call), ``build``
(the steps of a deploy with an image) and ``runner`` (the runner image). Tooling only: Lambda code
and the in-container runner never import this package or the Docker SDK.
"""
