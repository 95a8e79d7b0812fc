"""What runs in AWS: the Lambda handlers and the flow container's runner."""
