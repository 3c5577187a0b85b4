"""``python -m ml_on_aws.container {train,process PIPELINE,serve}``: the image's ENTRYPOINT."""

from ml_on_aws.container.entrypoint import cli

if __name__ == "__main__":
    cli()
