// Imported first by scripts/db-seed.ts, so it runs before any module reads the configuration.
//
// The seed writes a week of history with past clocks: a transfer it has just reserved "days ago"
// reads to admission control as one waiting for days, which would close admission for the rest of
// the seed (server/transfers/admission.ts) and fail it with OVERLOADED. Admission protects live
// traffic; this one-shot process is not live traffic, so it runs without it unless told otherwise.
process.env.TRANSFER_ADMISSION_ENABLED ??= "false";

export {};
