"""The lab's plan: pure Python (no aws_cdk import) that turns the validated configuration into
one `LabPlan` (plan/lab_plan.py): every Kubernetes object and every chart's values the lab
deploys, decided before any construct exists. The stacks apply it; the analyzer, the capacity
check, smoke and the tests read it.

This file imports nothing on purpose: smoke and the checks import single modules of the plan
without loading the rest.
"""
