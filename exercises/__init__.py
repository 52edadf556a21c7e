"""Your implementations. Each file holds one exercise; run `make test-<module>` to check it."""
