"""`nimctl k8s`: the settings `nimctl up` uses, rendered as NVIDIA NIM Operator resources."""
