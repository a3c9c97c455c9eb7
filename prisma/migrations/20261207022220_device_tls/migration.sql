-- AlterTable
ALTER TABLE "Device" ADD COLUMN     "tlsCaCertificates" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "tlsCiphers" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "tlsClientCertificate" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "tlsClientKey" TEXT,
ADD COLUMN     "tlsMinVersion" TEXT NOT NULL DEFAULT 'TLSv1.2',
ADD COLUMN     "tlsRequireClientCertificate" BOOLEAN NOT NULL DEFAULT true;

