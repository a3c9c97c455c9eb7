# One image for web, worker and setup (see docker-compose.yml).
FROM node:20-bookworm-slim
WORKDIR /app
# Tesseract (English model) for OCR of quarantined images (docs/deidentification.md, "OCR").
RUN apt-get update && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --include=dev
COPY . .
RUN node scripts/fetch-ohif.mjs && node scripts/migrate.mjs generate && node node_modules/next/dist/bin/next build
EXPOSE 3000 11112
