/** The one access key pair s3rver 3.7.1 accepts (its built-in account). */
export const LOCAL_S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;
