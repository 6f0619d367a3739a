/** The machine-learning core lives in `@mlops/gbdt`; the trainer's components import it from here. */
export * from '@mlops/gbdt';
