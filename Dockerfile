# One image for every service and the CLI. Pick the process with the command, e.g.
#   docker run IMAGE node --import tsx services/lander/src/main.ts
# Cloud Run: MLOPS_TRANSPORT=http makes a service answer Eventarc's CloudEvents on $PORT.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .npmrc ./
COPY shared/package.json shared/
COPY cli/package.json cli/
COPY bench/package.json bench/
COPY dataform/package.json dataform/
COPY services/sales-gen/package.json services/sales-gen/
COPY services/click-gen/package.json services/click-gen/
COPY services/startup-gen/package.json services/startup-gen/
COPY services/lander/package.json services/lander/
COPY services/transformer/package.json services/transformer/
COPY services/trainer/package.json services/trainer/
COPY services/dashboard/package.json services/dashboard/
RUN npm ci --omit=dev --ignore-scripts=false

FROM node:20-bookworm-slim
ENV NODE_ENV=production MLOPS_HOME=/data
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
CMD ["node", "--import", "tsx", "cli/src/main.ts", "--help"]
