-- CreateEnum
CREATE TYPE "CohortDriver" AS ENUM ('POSTGRES', 'MYSQL');

-- AlterEnum
ALTER TYPE "QuerySource" ADD VALUE 'DB';

-- AlterTable
ALTER TABLE "Query" ADD COLUMN     "cohortSourceId" TEXT;

-- AlterTable
ALTER TABLE "QueryItem" ADD COLUMN     "studyInstanceUid" TEXT;

-- CreateTable
CREATE TABLE "CohortSource" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT,
    "driver" "CohortDriver" NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL,
    "database" TEXT NOT NULL,
    "user" TEXT NOT NULL,
    "password" TEXT,
    "tls" BOOLEAN NOT NULL DEFAULT false,
    "sql" TEXT NOT NULL,
    "parameters" JSONB NOT NULL DEFAULT '[]',
    "mapping" JSONB NOT NULL,
    "rowCap" INTEGER NOT NULL DEFAULT 5000,
    "timeoutSeconds" INTEGER NOT NULL DEFAULT 30,
    "connectorId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "CohortSource_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "CohortSource_name_key" ON "CohortSource"("name");

-- AddForeignKey
ALTER TABLE "CohortSource" ADD CONSTRAINT "CohortSource_connectorId_fkey" FOREIGN KEY ("connectorId") REFERENCES "Connector"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Query" ADD CONSTRAINT "Query_cohortSourceId_fkey" FOREIGN KEY ("cohortSourceId") REFERENCES "CohortSource"("id") ON DELETE SET NULL ON UPDATE CASCADE;

