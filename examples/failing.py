"""A flow that fails, to see how a failed run looks."""

from pushpool import flow


@flow(log_prints=True, retries=1)
def broken(divisor: int = 0) -> float:
    print(f"Dividing by {divisor}")
    return 1 / divisor
