-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('ADMIN', 'COORDINATOR', 'RESEARCHER');

-- CreateEnum
CREATE TYPE "PoolRole" AS ENUM ('OWNER', 'COORDINATOR', 'RESEARCHER');

-- CreateEnum
CREATE TYPE "PoolKind" AS ENUM ('RESEARCH', 'INFRASTRUCTURE');

-- CreateEnum
CREATE TYPE "ConnectorType" AS ENUM ('DICOM', 'DICOMWEB', 'DB');

-- CreateEnum
CREATE TYPE "RetrieveMethod" AS ENUM ('CMOVE', 'CGET', 'WADORS');

-- CreateEnum
CREATE TYPE "QuerySource" AS ENUM ('SINGLE', 'SPREADSHEET');

-- CreateEnum
CREATE TYPE "QueryStatus" AS ENUM ('PENDING', 'RUNNING', 'DONE', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "QueryItemStatus" AS ENUM ('PENDING', 'RUNNING', 'DONE', 'FAILED', 'INVALID', 'CANCELLED');

-- CreateEnum
CREATE TYPE "RetrievalState" AS ENUM ('QUEUED', 'SCHEDULED', 'MOVING', 'ANONYMIZING', 'DONE', 'PARTIAL', 'FAILED', 'CANCELLED');

-- CreateTable
CREATE TABLE "User" (
    "id" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "passwordHash" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'RESEARCHER',
    "active" BOOLEAN NOT NULL DEFAULT true,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "poolId" TEXT,
    "expiresAt" TIMESTAMP(3),
    "lastUsedAt" TIMESTAMP(3),
    "revokedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Device" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "aeTitle" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "tls" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Pool" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "aeTitle" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "kind" "PoolKind" NOT NULL DEFAULT 'RESEARCH',
    "secret" TEXT NOT NULL,
    "rules" JSONB NOT NULL,
    "ruleVersion" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Pool_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PoolRuleVersion" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "rules" JSONB NOT NULL,
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PoolRuleVersion_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PoolMember" (
    "poolId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "role" "PoolRole" NOT NULL DEFAULT 'RESEARCHER',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PoolMember_pkey" PRIMARY KEY ("poolId","userId")
);

-- CreateTable
CREATE TABLE "PoolDevice" (
    "poolId" TEXT NOT NULL,
    "deviceId" TEXT NOT NULL,

    CONSTRAINT "PoolDevice_pkey" PRIMARY KEY ("poolId","deviceId")
);

-- CreateTable
CREATE TABLE "Connector" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" "ConnectorType" NOT NULL DEFAULT 'DICOM',
    "deviceId" TEXT,
    "queryPoolId" TEXT NOT NULL,
    "receivingPoolId" TEXT NOT NULL,
    "maxAssociations" INTEGER NOT NULL DEFAULT 2,
    "schedule" TEXT,
    "retrieveMethod" "RetrieveMethod" NOT NULL DEFAULT 'CMOVE',
    "deactivatedCriteria" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "capabilities" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Connector_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Query" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "connectorId" TEXT NOT NULL,
    "createdById" TEXT,
    "source" "QuerySource" NOT NULL DEFAULT 'SINGLE',
    "fileName" TEXT,
    "status" "QueryStatus" NOT NULL DEFAULT 'PENDING',
    "error" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Query_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueryItem" (
    "id" TEXT NOT NULL,
    "queryId" TEXT NOT NULL,
    "rowNumber" INTEGER NOT NULL,
    "patientId" TEXT NOT NULL,
    "accessionNumber" TEXT,
    "modality" TEXT,
    "studyDateFrom" TEXT,
    "studyDateTo" TEXT,
    "studyDescription" TEXT,
    "researchId" TEXT,
    "researchName" TEXT,
    "status" "QueryItemStatus" NOT NULL DEFAULT 'PENDING',
    "error" TEXT,
    "resultCount" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "QueryItem_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "QueryResult" (
    "id" TEXT NOT NULL,
    "queryId" TEXT NOT NULL,
    "itemId" TEXT NOT NULL,
    "studyInstanceUid" TEXT NOT NULL,
    "patientId" TEXT NOT NULL,
    "patientName" TEXT NOT NULL DEFAULT '',
    "patientBirthDate" TEXT NOT NULL DEFAULT '',
    "studyDate" TEXT NOT NULL DEFAULT '',
    "studyTime" TEXT NOT NULL DEFAULT '',
    "studyDescription" TEXT NOT NULL DEFAULT '',
    "accessionNumber" TEXT NOT NULL DEFAULT '',
    "modalities" TEXT NOT NULL DEFAULT '',
    "numSeries" INTEGER,
    "numInstances" INTEGER,
    "selected" BOOLEAN NOT NULL DEFAULT false,

    CONSTRAINT "QueryResult_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Retrieval" (
    "id" TEXT NOT NULL,
    "queryId" TEXT NOT NULL,
    "resultId" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "connectorId" TEXT NOT NULL,
    "studyInstanceUid" TEXT NOT NULL,
    "state" "RetrievalState" NOT NULL DEFAULT 'QUEUED',
    "expected" INTEGER NOT NULL DEFAULT 0,
    "received" INTEGER NOT NULL DEFAULT 0,
    "stored" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "scheduledFor" TIMESTAMP(3),
    "startedAt" TIMESTAMP(3),
    "finishedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Retrieval_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StagedInstance" (
    "id" TEXT NOT NULL,
    "receivingPoolId" TEXT NOT NULL,
    "retrievalId" TEXT,
    "callingAeTitle" TEXT NOT NULL,
    "studyInstanceUid" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "sopClassUid" TEXT NOT NULL,
    "transferSyntax" TEXT NOT NULL,
    "path" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "receivedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StagedInstance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Study" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "studyInstanceUid" TEXT NOT NULL,
    "patientId" TEXT NOT NULL,
    "patientName" TEXT NOT NULL DEFAULT '',
    "patientSex" TEXT NOT NULL DEFAULT '',
    "patientBirthDate" TEXT NOT NULL DEFAULT '',
    "studyDate" TEXT NOT NULL DEFAULT '',
    "studyTime" TEXT NOT NULL DEFAULT '',
    "studyDescription" TEXT NOT NULL DEFAULT '',
    "accessionNumber" TEXT NOT NULL DEFAULT '',
    "studyId" TEXT NOT NULL DEFAULT '',
    "modalities" TEXT NOT NULL DEFAULT '',
    "numSeries" INTEGER NOT NULL DEFAULT 0,
    "numInstances" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Study_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Series" (
    "id" TEXT NOT NULL,
    "studyId" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "seriesInstanceUid" TEXT NOT NULL,
    "modality" TEXT NOT NULL DEFAULT '',
    "seriesNumber" INTEGER,
    "seriesDescription" TEXT NOT NULL DEFAULT '',
    "bodyPartExamined" TEXT NOT NULL DEFAULT '',
    "numInstances" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "Series_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Instance" (
    "id" TEXT NOT NULL,
    "seriesId" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "sopInstanceUid" TEXT NOT NULL,
    "sopClassUid" TEXT NOT NULL,
    "instanceNumber" INTEGER,
    "transferSyntaxUid" TEXT NOT NULL,
    "rows" INTEGER,
    "columns" INTEGER,
    "numberOfFrames" INTEGER,
    "path" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "ruleVersion" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Instance_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PatientIdentity" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "sourcePatientId" TEXT NOT NULL,
    "researchId" TEXT NOT NULL,
    "researchName" TEXT NOT NULL,
    "dateOffsetDays" INTEGER NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PatientIdentity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StudyIdentity" (
    "id" TEXT NOT NULL,
    "poolId" TEXT NOT NULL,
    "sourceStudyUid" TEXT NOT NULL,
    "researchStudyUid" TEXT NOT NULL,
    "sourcePatientId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StudyIdentity_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditEvent" (
    "id" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "userId" TEXT,
    "action" TEXT NOT NULL,
    "poolId" TEXT,
    "targetType" TEXT,
    "targetId" TEXT,
    "detail" JSONB,

    CONSTRAINT "AuditEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Device_name_key" ON "Device"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Pool_name_key" ON "Pool"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Pool_aeTitle_key" ON "Pool"("aeTitle");

-- CreateIndex
CREATE UNIQUE INDEX "PoolRuleVersion_poolId_version_key" ON "PoolRuleVersion"("poolId", "version");

-- CreateIndex
CREATE INDEX "PoolMember_userId_idx" ON "PoolMember"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "Connector_name_key" ON "Connector"("name");

-- CreateIndex
CREATE INDEX "Query_poolId_createdAt_idx" ON "Query"("poolId", "createdAt");

-- CreateIndex
CREATE UNIQUE INDEX "QueryItem_queryId_rowNumber_key" ON "QueryItem"("queryId", "rowNumber");

-- CreateIndex
CREATE UNIQUE INDEX "QueryResult_queryId_studyInstanceUid_key" ON "QueryResult"("queryId", "studyInstanceUid");

-- CreateIndex
CREATE UNIQUE INDEX "Retrieval_resultId_key" ON "Retrieval"("resultId");

-- CreateIndex
CREATE INDEX "Retrieval_poolId_state_idx" ON "Retrieval"("poolId", "state");

-- CreateIndex
CREATE INDEX "Retrieval_studyInstanceUid_idx" ON "Retrieval"("studyInstanceUid");

-- CreateIndex
CREATE INDEX "StagedInstance_retrievalId_idx" ON "StagedInstance"("retrievalId");

-- CreateIndex
CREATE UNIQUE INDEX "StagedInstance_receivingPoolId_studyInstanceUid_sopInstance_key" ON "StagedInstance"("receivingPoolId", "studyInstanceUid", "sopInstanceUid");

-- CreateIndex
CREATE INDEX "Study_poolId_studyDate_idx" ON "Study"("poolId", "studyDate");

-- CreateIndex
CREATE INDEX "Study_poolId_patientId_idx" ON "Study"("poolId", "patientId");

-- CreateIndex
CREATE UNIQUE INDEX "Study_poolId_studyInstanceUid_key" ON "Study"("poolId", "studyInstanceUid");

-- CreateIndex
CREATE INDEX "Series_studyId_idx" ON "Series"("studyId");

-- CreateIndex
CREATE UNIQUE INDEX "Series_poolId_seriesInstanceUid_key" ON "Series"("poolId", "seriesInstanceUid");

-- CreateIndex
CREATE INDEX "Instance_seriesId_instanceNumber_idx" ON "Instance"("seriesId", "instanceNumber");

-- CreateIndex
CREATE UNIQUE INDEX "Instance_poolId_sopInstanceUid_key" ON "Instance"("poolId", "sopInstanceUid");

-- CreateIndex
CREATE UNIQUE INDEX "PatientIdentity_poolId_sourcePatientId_key" ON "PatientIdentity"("poolId", "sourcePatientId");

-- CreateIndex
CREATE UNIQUE INDEX "PatientIdentity_poolId_researchId_key" ON "PatientIdentity"("poolId", "researchId");

-- CreateIndex
CREATE UNIQUE INDEX "StudyIdentity_poolId_sourceStudyUid_key" ON "StudyIdentity"("poolId", "sourceStudyUid");

-- CreateIndex
CREATE INDEX "AuditEvent_poolId_at_idx" ON "AuditEvent"("poolId", "at");

-- CreateIndex
CREATE INDEX "AuditEvent_at_idx" ON "AuditEvent"("at");

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolRuleVersion" ADD CONSTRAINT "PoolRuleVersion_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolMember" ADD CONSTRAINT "PoolMember_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolMember" ADD CONSTRAINT "PoolMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolDevice" ADD CONSTRAINT "PoolDevice_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PoolDevice" ADD CONSTRAINT "PoolDevice_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Connector" ADD CONSTRAINT "Connector_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "Device"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Connector" ADD CONSTRAINT "Connector_queryPoolId_fkey" FOREIGN KEY ("queryPoolId") REFERENCES "Pool"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Connector" ADD CONSTRAINT "Connector_receivingPoolId_fkey" FOREIGN KEY ("receivingPoolId") REFERENCES "Pool"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Query" ADD CONSTRAINT "Query_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Query" ADD CONSTRAINT "Query_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Query" ADD CONSTRAINT "Query_createdById_fkey" FOREIGN KEY ("createdById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "QueryItem" ADD CONSTRAINT "QueryItem_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "QueryResult" ADD CONSTRAINT "QueryResult_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "QueryResult" ADD CONSTRAINT "QueryResult_itemId_fkey" FOREIGN KEY ("itemId") REFERENCES "QueryItem"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Retrieval" ADD CONSTRAINT "Retrieval_queryId_fkey" FOREIGN KEY ("queryId") REFERENCES "Query"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Retrieval" ADD CONSTRAINT "Retrieval_resultId_fkey" FOREIGN KEY ("resultId") REFERENCES "QueryResult"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Retrieval" ADD CONSTRAINT "Retrieval_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Retrieval" ADD CONSTRAINT "Retrieval_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StagedInstance" ADD CONSTRAINT "StagedInstance_retrievalId_fkey" FOREIGN KEY ("retrievalId") REFERENCES "Retrieval"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Study" ADD CONSTRAINT "Study_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Series" ADD CONSTRAINT "Series_studyId_fkey" FOREIGN KEY ("studyId") REFERENCES "Study"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Instance" ADD CONSTRAINT "Instance_seriesId_fkey" FOREIGN KEY ("seriesId") REFERENCES "Series"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PatientIdentity" ADD CONSTRAINT "PatientIdentity_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "AuditEvent" ADD CONSTRAINT "AuditEvent_poolId_fkey" FOREIGN KEY ("poolId") REFERENCES "Pool"("id") ON DELETE SET NULL ON UPDATE CASCADE;

