# One image for web, worker and setup (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --include=dev
COPY . .
RUN node scripts/fetch-ohif.mjs && node scripts/migrate.mjs generate && node node_modules/next/dist/bin/next build
EXPOSE 3000 11112
