"""ml-on-aws
"""

__version__ = "0.1"
