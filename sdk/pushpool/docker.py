"""``from pushpool.docker import DockerImage`` (Prefect's ``prefect.docker.DockerImage``): an image to
build for ``flow.deploy(image=DockerImage(name, tag, dockerfile="auto", platform=None,
build_args={}))``. Importing this does not import the Docker SDK."""

from pushpool.images.spec import DockerImage

__all__ = ["DockerImage"]
