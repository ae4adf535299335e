"""What the API answers, by resource: the response models its routes return and its OpenAPI
document shows. They are the API's contract, apart from the workflow state and the read model:
either can change without changing an answer, and a new field in an answer is one line here."""
