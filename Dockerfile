# radlabel in a container: the same set-up script as the README and CI; the default command runs the demo
# on the embedded LLM (no network needed at run time).
FROM python:3.11-slim-bookworm

RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/radlabel
# torch==2.13.0 from the CPU index (PyPI's default build for Linux is the multi-GB CUDA one).
ENV PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu \
    RADLABEL_HOME=/opt/radlabel/.cache \
    PATH=/opt/radlabel/.venv/bin:$PATH
COPY . .
RUN RADLABEL_NO_APT=1 ./scripts/setup.sh && rm -rf /root/.cache/pip

# Reports are PHI: nothing in the image talks to the network at run time.
ENV HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 LITELLM_LOCAL_MODEL_COST_MAP=True ANONYMIZED_TELEMETRY=False
CMD ["radlabel", "demo"]
