"""The security suite: each test is an attack an adversarial review got through, run against the real
stack where the hole was in the runtime. It runs in `make test`."""
