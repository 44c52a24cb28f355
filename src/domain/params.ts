/** A sweep parameter's value, and one point of a sweep: the parameters of one task. */
export type ParamValue = string | number | boolean;
export type Point = Readonly<Record<string, ParamValue>>;
