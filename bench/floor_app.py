"""The jsii floor: the smallest CDK app (one stack, one resource), to compare synth times.

Whatever any CDK app in Python pays (starting the CLI, Node.js, jsii and aws-cdk-lib) is
paid here too, so the lab's synth time over this one is what the lab itself costs.
"""

import aws_cdk as cdk
from aws_cdk import aws_sns as sns

app = cdk.App()
sns.Topic(cdk.Stack(app, "Floor"), "Topic")
app.synth()
