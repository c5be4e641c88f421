"""Build: the chapters' editions, their execution and the sites."""
