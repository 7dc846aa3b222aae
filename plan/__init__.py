"""The lab's plan: pure Python (no aws_cdk import) that turns the validated configuration into
one `LabPlan` (plan/lab_plan.py): every Kubernetes object and every chart's values the lab
deploys, decided before any construct exists. The stacks apply it; the analyzer, the capacity
check, smoke and the tests read it.

This file imports nothing on purpose: the checks and smoke import the modules they need
(plan.kube and plan.facts, or plan.scenarios and plan.modes) without building a plan, and a
module of the plan can import another without a cycle through this one.
"""
