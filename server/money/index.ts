export * from "./currencies";
export * from "./amount";
