"""What operators watch: liveness and readiness answers (health.py) and Prometheus counts (metrics.py)."""
