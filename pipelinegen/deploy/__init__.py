"""deploy stage of the pipelinegen data flow (see docs/architecture.md and docs/test-on-clone.md).

spec.py      DeploySpec: what jobs/clone/cluster checks need from pipeline.yaml (+ plugins.txt)
jobs.py      the pipeline job XML per branch, via jenkins-job-builder, checked with lxml
clone.py     generated/clone/: helm values, Jenkins CR, JCasC, pod templates (`render_clone`)
validate.py  offline checks of a rendered clone; crd.py: CR vs the operator CRD, unknown fields rejected
cluster.py   node-pool check against `kubectl get nodes`, cluster requirements
k8s.py       the clone's life through kubectl/helm (namespace, install, port-forward, teardown)
driver.py    python-jenkins with retries, crumbs, auth errors; testrun.py: one run, results kept
build_bundle.py  downloaded artifacts -> result bundle (commands: pipelinegen/cli/deploy.py)
"""
