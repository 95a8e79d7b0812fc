"""The quickstart flow: say hello, as in the course's first work-pool deployment."""

from pushpool import flow


@flow(log_prints=True)
def my_flow(name: str = "World") -> str:
    print(f"Hello {name}!")
    return f"Hello {name}!"


if __name__ == "__main__":
    my_flow()
