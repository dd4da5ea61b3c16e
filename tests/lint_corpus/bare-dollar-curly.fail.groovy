pipeline {
    agent any
    stages {
        stage('build') {
            steps {
                sh ${WORKSPACE}  // <-- bare-dollar-curly
            }
        }
    }
}
