-- AlterTable
ALTER TABLE "QuarantinedInstance" ADD COLUMN     "ocrAt" TIMESTAMP(3),
ADD COLUMN     "ocrBoxCount" INTEGER,
ADD COLUMN     "ocrError" TEXT,
ADD COLUMN     "ocrFrames" INTEGER,
ADD COLUMN     "ocrStatus" TEXT NOT NULL DEFAULT 'pending';

-- CreateTable
CREATE TABLE "OcrBox" (
    "id" TEXT NOT NULL,
    "quarantinedInstanceId" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "frame" INTEGER NOT NULL,
    "x" INTEGER NOT NULL,
    "y" INTEGER NOT NULL,
    "width" INTEGER NOT NULL,
    "height" INTEGER NOT NULL,
    "confidence" DOUBLE PRECISION NOT NULL,
    "category" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OcrBox_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Redaction" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "quarantinedInstanceId" TEXT NOT NULL,
    "sourceSopInstanceUid" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "instanceId" TEXT,
    "transferSyntaxIn" TEXT NOT NULL,
    "transferSyntaxOut" TEXT NOT NULL,
    "regions" JSONB NOT NULL,
    "regionCount" INTEGER NOT NULL,
    "signatureRegions" INTEGER NOT NULL DEFAULT 0,
    "ocrRegions" INTEGER NOT NULL DEFAULT 0,
    "ownerRegions" INTEGER NOT NULL DEFAULT 0,
    "signatureRuleIds" TEXT[],
    "framesRedacted" INTEGER NOT NULL,
    "lossy" BOOLEAN NOT NULL DEFAULT false,
    "ruleVersion" INTEGER NOT NULL,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Redaction_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "OcrBox_quarantinedInstanceId_idx" ON "OcrBox"("quarantinedInstanceId");

-- CreateIndex
CREATE INDEX "OcrBox_poolId_category_idx" ON "OcrBox"("poolId", "category");

-- CreateIndex
CREATE INDEX "Redaction_poolId_createdAt_idx" ON "Redaction"("poolId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Redaction_poolId_sopInstanceUid_key" ON "Redaction"("poolId", "sopInstanceUid");

-- CreateIndex
CREATE INDEX "QuarantinedInstance_ocrStatus_idx" ON "QuarantinedInstance"("ocrStatus");

-- AddForeignKey
ALTER TABLE "OcrBox" ADD CONSTRAINT "OcrBox_quarantinedInstanceId_fkey" FOREIGN KEY ("quarantinedInstanceId") REFERENCES "QuarantinedInstance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Redaction" ADD CONSTRAINT "Redaction_quarantinedInstanceId_fkey" FOREIGN KEY ("quarantinedInstanceId") REFERENCES "QuarantinedInstance"("id") ON DELETE CASCADE ON UPDATE CASCADE;


-- Instances decided before OCR existed are not read again.
UPDATE "QuarantinedInstance" SET "ocrStatus" = 'skipped' WHERE "decision" IS NOT NULL;
