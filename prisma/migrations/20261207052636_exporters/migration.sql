-- CreateEnum
CREATE TYPE "DestinationType" AS ENUM ('DICOMWEB', 'DICOM');

-- CreateEnum
CREATE TYPE "ExportState" AS ENUM ('QUEUED', 'SCHEDULED', 'RUNNING', 'COMPLETED', 'WARNING', 'FAILED', 'CANCELED');

-- CreateTable
CREATE TABLE "Destination" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" "DestinationType" NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "deviceId" TEXT,
    "storageCommitment" BOOLEAN NOT NULL DEFAULT false,
    "maxAssociations" INTEGER NOT NULL DEFAULT 2,
    "webStowUrl" TEXT,
    "webHeaders" JSONB NOT NULL DEFAULT '{}',
    "webConnectTimeoutMs" INTEGER NOT NULL DEFAULT 10000,
    "webReadTimeoutMs" INTEGER NOT NULL DEFAULT 60000,
    "webTlsCa" TEXT,
    "webTlsAllowAnyHost" BOOLEAN NOT NULL DEFAULT false,
    "webTlsTrustAll" BOOLEAN NOT NULL DEFAULT false,
    "webAuthType" "HttpAuthType" NOT NULL DEFAULT 'NONE',
    "webUsername" TEXT,
    "webSecret" TEXT,
    "webTokenUrl" TEXT,
    "webScope" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Destination_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Exporter" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "destinationId" TEXT NOT NULL,
    "chunked" BOOLEAN NOT NULL DEFAULT false,
    "concurrency" INTEGER NOT NULL DEFAULT 1,
    "instancesPerRequest" INTEGER NOT NULL DEFAULT 1,
    "transferSyntaxes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "bearerToken" TEXT,
    "basicAuth" TEXT,
    "allowAnyHostname" BOOLEAN NOT NULL DEFAULT false,
    "disableTrustManager" BOOLEAN NOT NULL DEFAULT false,
    "storageCommitment" BOOLEAN NOT NULL DEFAULT false,
    "schedule" TEXT,
    "autoExport" BOOLEAN NOT NULL DEFAULT false,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Exporter_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Export" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "exporterId" TEXT NOT NULL,
    "requestedById" TEXT,
    "scope" JSONB NOT NULL,
    "resend" BOOLEAN NOT NULL DEFAULT false,
    "state" "ExportState" NOT NULL DEFAULT 'QUEUED',
    "total" INTEGER NOT NULL DEFAULT 0,
    "sent" INTEGER NOT NULL DEFAULT 0,
    "warnings" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "skipped" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "cancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "lastError" TEXT,
    "scheduledFor" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Export_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExportInstance" (
    "id" TEXT NOT NULL,
    "exportId" TEXT NOT NULL,
    "instanceId" TEXT,
    "studyInstanceUid" TEXT NOT NULL,
    "seriesInstanceUid" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "sopClassUid" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'PENDING',
    "reason" TEXT,
    "transferSyntaxSent" TEXT,
    "sha256" TEXT,
    "commitment" TEXT,
    "sentAt" TIMESTAMP(3),

    CONSTRAINT "ExportInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExportDelivery" (
    "destinationId" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "exportId" TEXT NOT NULL,
    "deliveredAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExportDelivery_pkey" PRIMARY KEY ("destinationId","poolId","sopInstanceUid")
);

-- CreateIndex
CREATE UNIQUE INDEX "Destination_name_key" ON "Destination"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Exporter_poolId_name_key" ON "Exporter"("poolId", "name");

-- CreateIndex
CREATE INDEX "Export_poolId_createdAt_idx" ON "Export"("poolId", "createdAt");

-- CreateIndex
CREATE INDEX "Export_state_idx" ON "Export"("state");

-- CreateIndex
CREATE INDEX "ExportInstance_exportId_state_idx" ON "ExportInstance"("exportId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "ExportInstance_exportId_sopInstanceUid_key" ON "ExportInstance"("exportId", "sopInstanceUid");

-- AddForeignKey
ALTER TABLE "Destination" ADD CONSTRAINT "Destination_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Exporter" ADD CONSTRAINT "Exporter_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Exporter" ADD CONSTRAINT "Exporter_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Export" ADD CONSTRAINT "Export_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Export" ADD CONSTRAINT "Export_exporterId_fkey" FOREIGN KEY ("exporterId") REFERENCES "Exporter"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExportInstance" ADD CONSTRAINT "ExportInstance_exportId_fkey" FOREIGN KEY ("exportId") REFERENCES "Export"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExportDelivery" ADD CONSTRAINT "ExportDelivery_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination"("id") ON DELETE CASCADE ON UPDATE CASCADE;

