"""Smoke check of the deployed Bookinfo lab: does the mesh do what the traffic scenario says?

Run it as `python -m smoke` (see `python -m smoke --help`). It requests the product page a
bounded number of times, sorts each answer by what the page shows (which reviews version,
which failure), and compares the shares with the scenario's promise in
`smoke.expectations`. Standard library only, so it runs without the CDK installed.
"""
