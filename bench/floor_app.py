"""The jsii floor: the smallest CDK app (one stack, one resource), to compare synth times.

Whatever any CDK app in Python pays (starting the CLI, Node.js, jsii and aws-cdk-lib) is
paid here too, so the lab's synth time over this one is what the lab itself costs. The app
has the lab's App settings (built-in CloudFormation validation off, see stacks/lab.py) and
ends its process as app.py does (stacks/process_exit.py), so that a fixed cost the lab does
not pay does not hide what it does.
"""

import aws_cdk as cdk
from aws_cdk import aws_sns as sns

from stacks.process_exit import leave

app = cdk.App(builtin_cloud_formation_validation=False)
sns.Topic(cdk.Stack(app, "Floor"), "Topic")
app.synth()
leave(0)
