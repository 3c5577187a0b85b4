"""The AWS loop of docs/architecture.md run end to end on this machine (``make aws-loop``).

``python -m tests.scenario.aws_loop [--until N]`` runs the stages of :mod:`.loop` in order, one
line of evidence each, and exits 1 at the first that fails. It starts what it needs: moto's
server with IAM enforced (:mod:`.emulator`), Debian's docker-registry in place of ECR's registry
and a Docker engine. What AWS would run and moto only records is played by the test doubles of
:mod:`.doubles` (Lambda's runtime and async invoker, a SageMaker job executor, an endpoint with
its data capture, an alarm evaluator) and the moto patches of :mod:`.emulator`; each module
says what it stands in for.
"""
