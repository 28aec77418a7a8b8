"""Runtime: the Docker adapter, the base image, host pip/CA forwarding."""
