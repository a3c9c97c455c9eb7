-- CreateTable
CREATE TABLE "SigningKey" (
    "id" TEXT NOT NULL,
    "publicKeyPem" TEXT NOT NULL,
    "privateKey" TEXT NOT NULL,
    "active" BOOLEAN DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "retiredAt" TIMESTAMP(3),

    CONSTRAINT "SigningKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Receipt" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "exportId" TEXT,
    "attempt" INTEGER,
    "document" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Receipt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "SigningKey_active_key" ON "SigningKey"("active");

-- CreateIndex
CREATE INDEX "Receipt_poolId_createdAt_idx" ON "Receipt"("poolId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "Receipt_exportId_attempt_key" ON "Receipt"("exportId", "attempt");

