"""xslatent: which structural degrees of freedom does an X-ray spectrum encode?"""

__version__ = "0.1.0"
