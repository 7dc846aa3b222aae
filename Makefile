# Every target bootstraps what it needs: a .venv with the pinned Python packages and
# node_modules with the pinned CDK CLI. Only python3 (>= 3.11), Node.js (>= 20), npm and make
# must already be on the machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
# CLUSTER=<name> acts on the lab of that clusterName instead of cdk.json's: the CDK gets
# -c clusterName=<name>, the scripts --cluster <name>. The name also names the stacks
# (plan/facts.py), so two labs of two names live side by side in one account and region.
CLUSTER ?=
# CONTEXT="key=value ..." gives the CDK context keys for this command only (each as -c), e.g.
# make deploy CONTEXT="scenario=reviews-jason-v2": as `npx cdk deploy -c ...` would, but
# with the address and principal `make deploy` lets in (FIND_DEPLOYER).
CONTEXT ?=
CDK_CONTEXT = $(if $(CLUSTER),-c clusterName='$(CLUSTER)') $(foreach c,$(CONTEXT),-c '$(c)')
LAB_ARG = $(if $(CLUSTER),--cluster '$(CLUSTER)')
# Every deploy lets in the deploying machine's public address and IAM principal when
# cdk.json sets no allowedCidrs or adminPrincipals (scripts/deploy_context.py prints the
# context to pass, or nothing).
FIND_DEPLOYER = deployer="$$($(VENV)/bin/python -m scripts.deploy_context)"
# The lab's cluster stack, deployed alone after a settings change; read in the recipe, once
# the .venv exists.
DEPLOY_CLUSTER_STACK = $(FIND_DEPLOYER) && \
	stack="$$($(VENV)/bin/python -m scripts.cdk_json stack cluster $(LAB_ARG))" && \
	$(CDK) deploy $(CDK_CONTEXT) $$deployer "$$stack"
CDK_CLI_PIN = $(shell sed -n 's/.*"aws-cdk": *"\([^"]*\)".*/\1/p' package.json)
CDK := PATH="$(CURDIR)/$(VENV)/bin:$$PATH" npx --no-install cdk

# jsii (inside aws-cdk-lib) prints a Node.js end-of-life banner on every run otherwise.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: help bootstrap cdk-version synth test lint format nag cfn-lint bench smoke deploy destroy clean \
	istio-set istio-unset istio-show task repair doctor leftovers e2e

help:
	@echo "make synth    synthesize the lab's CloudFormation templates into cdk.out (offline)"
	@echo "make test     run the test suite"
	@echo "make lint     ruff check and format check"
	@echo "make nag      synthesize with the cdk-nag AwsSolutions checks; fails on any unacknowledged finding"
	@echo "make cfn-lint synthesize, then lint every template with .cfnlintrc.yaml"
	@echo "make bench    time synth and tests, weigh templates, estimate the deploy critical path"
	@echo "               (BASELINE=<git ref> also estimates the critical path as committed there)"
	@echo "make deploy   deploy every stack (needs AWS credentials and a bootstrapped account)"
	@echo "make destroy  delete every stack, then the lab's entries in your kubeconfig"
	@echo "               (CLUSTER=<name> with deploy, destroy, smoke, doctor and the others: the"
	@echo "               lab of that clusterName instead of cdk.json's; CONTEXT=\"key=value ...\""
	@echo "               with deploy and synth: context keys for this command only)"
	@echo "make smoke    after deploy: check what the mesh does (options: ARGS=\"--user jason\")"
	@echo "make istio-set SET=\"path=value ...\"  Istio settings as istioctl --set writes them:"
	@echo "               kept in cdk.json, then the cluster stack is deployed"
	@echo "make istio-unset [PATHS=\"path ...\"]  remove them (all without PATHS), then deploy"
	@echo "make istio-show  the Istio settings cdk.json holds"
	@echo "make e2e      deploy, doctor, NLB targets, smoke, Kiali, destroy, leftovers: a report in e2e-reports/"
	@echo "               (KEEP=1 keeps the lab: no destroy, no scan)"
	@echo "make leftovers after destroy: what of the lab is still in the account and region"
	@echo "make doctor   after deploy: what in the cluster differs from the deployed lab, and the fix"
	@echo "make repair   re-apply every chart and manifest of the lab in place (after a Task's"
	@echo "               cleanup damaged it); cluster, nodes, IAM and VPC are left alone"
	@echo "make task [NAME=<page>] [TAB=<tab>] [APPLY=1]  the Istio docs' Task pages on the lab:"
	@echo "               every page, one page's lab steps, or (APPLY=1) set what it needs and deploy"

$(VENV_STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python >= 3.11 is required, found " + sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

bootstrap: $(VENV_STAMP) $(NODE_STAMP)

# The app's cloud assembly is read by CLI 2.x only (npm's deprecated aws-cdk 3.0.0 cannot):
# refuse any other CLI, e.g. one installed globally that npx would find first.
cdk-version:
	@v="$$($(CDK) --version 2>/dev/null)"; v="$${v%% *}"; case "$$v" in \
	  2.*) ;; \
	  *) echo "error: the CDK CLI is $${v:-missing}, not 2.x; run npm ci (package.json pins $(CDK_CLI_PIN))" >&2; exit 1;; \
	esac

synth: bootstrap cdk-version
	$(CDK) synth $(CDK_CONTEXT) --quiet
	@$(VENV)/bin/python scripts/synth_summary.py cdk.out

# Two worker processes, tests handed out one batch at a time; each worker synthesizes every
# lab variant its tests ask for once.
test: bootstrap
	$(VENV)/bin/python -m pytest -n 2 --dist load

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: bootstrap
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

nag: bootstrap cdk-version
	$(CDK) synth $(CDK_CONTEXT) -c nag=true --quiet

cfn-lint: synth
	$(VENV)/bin/cfn-lint

bench: bootstrap
	$(VENV)/bin/python -m bench.run $(if $(BASELINE),--baseline $(BASELINE))

smoke: $(VENV_STAMP)
	$(VENV)/bin/python -m smoke $(LAB_ARG) $(ARGS)

deploy: bootstrap cdk-version
	$(FIND_DEPLOYER) && $(CDK) deploy $(CDK_CONTEXT) $$deployer --all

# The kubeconfig entries are looked up while the cluster stack still exists, and removed only
# once every stack is gone (scripts/lab_kubeconfig.py, run as a module so that it finds
# plan/). A cluster deleted outside CloudFormation first has its stack deleted without the
# Kubernetes resources (scripts/cluster_gone.py).
destroy: bootstrap cdk-version
	@arn="$$($(VENV)/bin/python -m scripts.lab_kubeconfig arn $(LAB_ARG))" && \
	$(VENV)/bin/python -m scripts.cluster_gone $(LAB_ARG) && \
	$(CDK) destroy $(CDK_CONTEXT) --all --force && \
	$(VENV)/bin/python -m scripts.lab_kubeconfig forget "$$arn"

# The paths are checked (and cdk.json written) before anything is deployed.
istio-set: bootstrap cdk-version
	$(if $(strip $(SET)),,$(error usage: make istio-set SET="path=value ..."; quote a value with spaces in double quotes inside SET))
	set -f; $(VENV)/bin/python -m scripts.istio_settings set $(SET)
	$(DEPLOY_CLUSTER_STACK)

istio-unset: bootstrap cdk-version
	set -f; $(VENV)/bin/python -m scripts.istio_settings unset $(PATHS)
	$(DEPLOY_CLUSTER_STACK)

istio-show: $(VENV_STAMP)
	@$(VENV)/bin/python -m scripts.istio_settings show

# APPLY=1 writes the page's settings into cdk.json (after checking them), then deploys.
task: $(VENV_STAMP) $(if $(filter 1,$(APPLY)),$(NODE_STAMP) cdk-version)
	@$(VENV)/bin/python -m scripts.task $(NAME) $(if $(TAB),--tab $(TAB)) $(if $(filter 1,$(APPLY)),--apply)
	$(if $(filter 1,$(APPLY)),$(DEPLOY_CLUSTER_STACK))

# A new `repair` value in cdk.json changes one property of every Kubernetes custom resource,
# so CloudFormation updates them all (constructs/repair.py); kept there, so that the next
# deploy does not do it again.
repair: bootstrap cdk-version
	$(VENV)/bin/python -m scripts.cdk_json repair
	$(DEPLOY_CLUSTER_STACK)
	$(VENV)/bin/python -m doctor $(LAB_ARG)

# The whole life of a lab against a real account, timed, with a report to attach to a bug.
e2e: bootstrap cdk-version
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m scripts.e2e $(LAB_ARG) $(if $(filter 1,$(KEEP)),--keep)

# Read-only. Exit status 0: nothing of the lab's is left; 1: something is (one line each,
# with the command that deletes it); 2: no scan (no credentials or region).
leftovers: $(VENV_STAMP)
	@$(VENV)/bin/python -m scripts.leftovers $(LAB_ARG)

# Exit status 0: as deployed; 1: something differs (one line each, with its fix); 2: no
# cluster could be reached.
doctor: $(VENV_STAMP)
	@$(VENV)/bin/python -m doctor $(LAB_ARG)
clean:
	rm -rf cdk.out .pytest_cache
