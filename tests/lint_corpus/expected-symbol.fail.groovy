pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                "${'ech' + 'o'}"('x')  // <-- expected-symbol
            }
        }
    }
}
