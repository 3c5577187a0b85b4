"""``python -m ml_on_aws.sagemaker {train,process PIPELINE,serve}``: the image's ENTRYPOINT."""

from ml_on_aws.sagemaker.entrypoint import cli

if __name__ == "__main__":
    cli()
