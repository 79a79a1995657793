# The Vigil node, built from this repository (used by docker-compose.yml).
FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY migrations ./migrations
COPY bin ./bin
# Scalar's browser bundle, served at /docs/scalar.js (vendor/scalar/README.md).
COPY vendor ./vendor
ENV HOST=0.0.0.0 PORT=8000 DATA_DIR=/data
# The node writes its admin token and keys here as the unprivileged user; a named volume takes
# this ownership when first mounted.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 8000
USER node
CMD ["npm", "start"]
