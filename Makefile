# Common tasks. `make run` and `make test` prepare the checkout themselves (scripts/setup.sh), so
# they work on a fresh clone.
#
#   make run [ARGS="--listen 127.0.0.1:7420"]   install npm deps, build, start the control plane
#   make test [TESTS="unit"]                    install everything the tests need, run them
SHELL := /bin/bash
.DEFAULT_GOAL := help
ARGS ?=
TESTS ?=

.PHONY: help run test build lint bench test-hosts-up test-hosts-down clean

help:
	@echo "make run            npm deps + build, then holdfast serve (ARGS=... for more flags)"
	@echo "make test           Debian packages, npm deps, build, then all tests (TESTS=unit|integration|e2e)"
	@echo "make build          npm deps + build into dist/ (skipped when nothing changed)"
	@echo "make lint           type-check everything (the server and CLI, and the dashboard)"
	@echo "make bench          run the benchmarks (bench/run.ts)"
	@echo "make test-hosts-up  start the Docker/SSH test hosts; make test-hosts-down stops them"
	@echo "make clean          remove build output (dist/, test-results/)"

run:
	bash scripts/setup.sh run
	./bin/holdfast.js serve $(ARGS)

test:
	bash scripts/setup.sh test
	npm test -- $(TESTS)

build:
	bash scripts/setup.sh run

lint:
	bash scripts/setup.sh deps
	npm run --silent typecheck

bench:
	@test -f bench/run.ts || { echo "make bench: bench/run.ts not found: no benchmarks to run" >&2; exit 1; }
	bash scripts/setup.sh run
	node --import tsx bench/run.ts $(ARGS)

test-hosts-up:
	bash scripts/test-hosts.sh start

test-hosts-down:
	bash scripts/test-hosts.sh stop

clean:
	rm -rf dist test-results
